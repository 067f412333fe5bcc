/**
 * Child process for the crash-consistency tests: runs guest writes and DeDe passes on a
 * file-backed volume until it is killed (SIGKILL). Prints `B f b id` before and `A f b id` after
 * each write (synchronously, so the parent's view never runs ahead of the disk).
 * With <killAtWrite> > 0 the child SIGKILLs itself just before its N-th store write, so crash
 * points are spread over every write of the volume (inside journal commits too).
 * Usage: node crash-child.mjs <volume path> <seed> [killAtWrite]
 */
import * as fs from 'node:fs';
import { ClusterVolume, DedupEngine, SUB_SIZE, type BlockStore } from '../../src/storage/index.js';
import { FileStore } from '../../src/storage/node.js';
import { SeededRng } from '../../src/sim/index.js';
import { block } from './helpers.js';
import { CRASH_FILES, CRASH_BLOCKS, hostOfFile } from './crash-shared.js';

const [path, seedArg, killArg] = process.argv.slice(2);
const rng = SeededRng.fromSeed(Number(seedArg));
const killAt = Number(killArg ?? 0);
const fstore = FileStore.open(path);
let writes = 0;
const store: BlockStore = {
  get size() { return fstore.size; },
  read: (o, l) => fstore.read(o, l),
  write: (o, d) => {
    if (killAt > 0 && ++writes >= killAt) process.kill(process.pid, 'SIGKILL');
    fstore.write(o, d);
  },
  sync: () => fstore.sync(),
  close: () => fstore.close(),
};
const vol = ClusterVolume.open(store);
const dede = new DedupEngine(vol, { flushRecords: 16 });
const files = CRASH_FILES.map((n) => vol.lookup(n)!);
const say = (s: string) => fs.writeSync(1, s + '\n');
for (let step = 0; ; step++) {
  const r = rng.int(100);
  if (r < 8) {
    dede.pass(1 + rng.int(2));
    say('P');
    continue;
  }
  const f = rng.int(files.length), b = rng.int(CRASH_BLOCKS), id = rng.int(24);
  say(`B ${f} ${b} ${id}`);
  vol.writeAt(hostOfFile(f), files[f], b * SUB_SIZE, block(id));
  say(`A ${f} ${b} ${id}`);
}
