/** An InputBox validator from a parser that throws: its message when the value does not parse. */
import { messageOf } from '../engines/core/errors';

export function validateWith(parse: (value: string) => unknown): (value: string) => string | undefined {
  return (value) => {
    try {
      parse(value);
      return undefined;
    } catch (error) {
      return messageOf(error);
    }
  };
}
