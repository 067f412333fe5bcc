/** A benchmark section: `npm run bench -- --json --only name` prints `{ [name]: result }`. */
export interface BenchSection {
  readonly name: string;
  run(): Promise<Record<string, unknown>> | Record<string, unknown>;
}
