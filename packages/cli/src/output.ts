/** Commands print either a short human summary or, with --json, one JSON document on stdout. */
export interface Output {
  json: boolean;
  result(value: unknown, human: string): void;
  progress(message: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
    },
    progress(message) {
      // Progress goes to stderr so stdout stays a clean JSON document with --json.
      process.stderr.write(`${message}\n`);
    },
  };
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
