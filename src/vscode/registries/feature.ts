/** The Registries part of the editor, built once per activation (like the etcd feature). */
import type { Services } from '../services';
import { RegistriesTree } from './tree';

const features = new WeakMap<Services, RegistriesTree>();

export function registriesTree(services: Services): RegistriesTree {
  let tree = features.get(services);
  if (!tree) {
    tree = services.track(new RegistriesTree(services));
    features.set(services, tree);
  }
  return tree;
}
