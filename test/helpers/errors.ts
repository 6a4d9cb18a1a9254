// Shared assertion: what a failing call throws must be a StaticHashError, and its code is returned.
import { StaticHashError } from '../../src/index';

/** The `code` of the StaticHashError `action` throws (failing the test on any other error), or undefined if it returns. */
export function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(StaticHashError);
    return (error as StaticHashError).code;
  }
  return undefined;
}
