import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cmdFsck } from '../../src/cli/storage-commands.js';
import { ClusterVolume, DedupEngine, computeLayout, LOG_RECORD_SIZE, logName } from '../../src/storage/index.js';
import { FileStore } from '../../src/storage/node.js';
import { SMALL, block } from './helpers.js';

describe('cmdFsck', () => {
  it('clean volume → 0; corrupt log and refcount → repaired (1) → clean (0); missing file → 8', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-fsck-'));
    const p = path.join(dir, 'v.img');
    const store = FileStore.create(p, computeLayout(SMALL).totalSize);
    const vol = ClusterVolume.format(store, SMALL);
    const dede = new DedupEngine(vol);
    const f = vol.create(1, 'vm.vmdk', { size: 1 << 20, monitored: true });
    for (let i = 0; i < 8; i++) vol.writeAt(1, f, i * 4096, block(i));
    dede.flush(1);
    expect(cmdFsck({ volume: p }).exitCode).toBe(0);
    // Corrupt one write-log record (data block of the log file).
    const log = vol.lookup(logName(1, f))!;
    const loc = vol.locate(log, 0);
    store.write(vol.layout.dataStart + loc.unit * 4096 + LOG_RECORD_SIZE + 30, new Uint8Array([0xee]));
    store.close();
    const r1 = cmdFsck({ volume: p, json: true });
    expect(r1.exitCode).toBe(4);
    expect(JSON.parse(r1.stdout).findings[0].code).toBe('LOG_RECORD_CORRUPT');
    const r2 = cmdFsck({ volume: p, repair: true });
    expect(r2.exitCode).toBe(1);
    expect(r2.stdout).toContain('clean after repair');
    expect(cmdFsck({ volume: p }).exitCode).toBe(0);
    const v2 = ClusterVolume.open(FileStore.open(p));
    for (let i = 0; i < 8; i++) expect(v2.readAt(f, i * 4096, 4096)).toEqual(block(i));
    expect(v2.info(log).size).toBe(7 * LOG_RECORD_SIZE);
    expect(cmdFsck({ volume: path.join(dir, 'nope.img') }).exitCode).toBe(8);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
