/**
 * Crash-consistency harness: formats a file-backed volume, runs crash-child in a separate Node
 * process, SIGKILLs it at a seeded random point, reopens the volume and checks that every
 * acknowledged write reads back and that the checker finds nothing.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { ClusterVolume, SUB_SIZE, bytesEqual, checkVolume, computeLayout, type Finding } from '../../src/storage/index.js';
import { FileStore } from '../../src/storage/node.js';
import { SeededRng } from '../../src/sim/index.js';
import { block } from './helpers.js';
import { CRASH_FILES, CRASH_BLOCKS, hostOfFile } from './crash-shared.js';

const GEOMETRY = { largeBlocks: 24, inodes: 64, pointerBlocks: 256, journalPages: 128 };

/** Bundles the child once into a temp dir; returns the directory and the script path. */
export function prepareChild(): { dir: string; script: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'terracloak-crash-'));
  const script = path.join(dir, 'crash-child.mjs');
  buildSync({ entryPoints: [path.join(import.meta.dirname, 'crash-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: script, logLevel: 'silent' });
  return { dir, script };
}

/** Outcome of one trial. */
export interface TrialResult {
  acked: number;
  passes: number;
  mismatches: string[];
  findings: Finding[];
}

/** Runs one crash trial with `seed`. */
export async function crashTrial(dir: string, script: string, seed: number): Promise<TrialResult> {
  const rng = SeededRng.fromSeed(seed).fork('crash-trial');
  const volPath = path.join(dir, `vol-${seed}.img`);
  const store = FileStore.create(volPath, computeLayout(GEOMETRY).totalSize);
  const vol = ClusterVolume.format(store, GEOMETRY);
  CRASH_FILES.forEach((n, i) => vol.create(hostOfFile(i), n, { size: CRASH_BLOCKS * SUB_SIZE, monitored: true, domain: 1 }));
  store.close();
  // Odd seeds: the parent kills after a random number of output lines; even seeds: the child kills
  // itself before a random store write (so commits are cut in the middle too).
  const selfKill = seed % 2 === 0 ? 50 + rng.int(1500) : 0;
  const killAfter = selfKill ? Infinity : 20 + rng.int(400);
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [script, volPath, String(seed), String(selfKill)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      if (!killed && lines.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
  // Model: last acknowledged write per block; an in-flight (begun, unacked) write may or may not have landed.
  const acked = new Map<string, number>();
  const inflight = new Map<string, number>();
  let nAck = 0, passes = 0;
  for (const l of lines) {
    const [k, f, b, id] = l.split(' ');
    if (k === 'P') passes++;
    else if (k === 'B') inflight.set(`${f} ${b}`, Number(id));
    else if (k === 'A') {
      acked.set(`${f} ${b}`, Number(id));
      inflight.delete(`${f} ${b}`);
      nAck++;
    }
  }
  const store2 = FileStore.open(volPath);
  const mismatches: string[] = [];
  let findings: Finding[] = [];
  try {
    const v = ClusterVolume.open(store2);
    const files = CRASH_FILES.map((n) => v.lookup(n)!);
    for (let f = 0; f < files.length; f++) {
      const all = v.readAt(files[f], 0, CRASH_BLOCKS * SUB_SIZE);
      for (let b = 0; b < CRASH_BLOCKS; b++) {
        const key = `${f} ${b}`;
        const got = all.subarray(b * SUB_SIZE, (b + 1) * SUB_SIZE);
        const ok = [acked.get(key), inflight.get(key)].some((id) => (id === undefined ? got.every((x) => x === 0) : bytesEqual(got, block(id))));
        const okZero = acked.get(key) === undefined && inflight.get(key) === undefined && got.every((x) => x === 0);
        if (!ok && !okZero) mismatches.push(`file ${f} block ${b}: expected ${acked.get(key)} (or in-flight ${inflight.get(key)})`);
      }
    }
    findings = checkVolume(v).findings;
  } finally {
    store2.close();
    fs.rmSync(volPath, { force: true });
  }
  return { acked: nAck, passes, mismatches, findings };
}
