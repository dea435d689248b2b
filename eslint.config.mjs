// Lint rules. The one architectural rule: engines and the CLI never import `vscode`.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', '.wharf-lab/**', 'media/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'CallExpression[callee.property.name="execSync"]', message: 'Use execFile with an argument array.' }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['src/engines/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Engines and the CLI must not depend on VS Code; put editor code under src/vscode.' }], patterns: [{ group: ['**/vscode/**', '../vscode/*'], message: 'Engines and the CLI must not import the VS Code layer.' }] }],
    },
  },
);
