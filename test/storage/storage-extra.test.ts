import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STORAGE_COMMANDS } from '../../src/cli/storage-extra.js';
import { UsageError } from '../../src/cli/args.js';
import { ClusterVolume, computeLayout } from '../../src/storage/index.js';
import { FileStore } from '../../src/storage/node.js';
import { SMALL } from './helpers.js';

describe('STORAGE_COMMANDS: terracloak fsck', () => {
  const fsck = STORAGE_COMMANDS.find((c) => c.name === 'fsck')!;
  it('checks a clean volume (exit 0, JSON report), a corrupt superblock (4 or 8) and refuses bad usage', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-fsck-extra-'));
    try {
      const p = path.join(dir, 'v.img');
      const store = FileStore.create(p, computeLayout(SMALL).totalSize);
      const vol = ClusterVolume.format(store, SMALL);
      vol.create(1, 'a.vmdk', { size: 1 << 20 });
      store.close();
      expect(fsck.options).toEqual({ repair: 'bool', json: 'bool' });
      const r = fsck.run([p], { json: true });
      expect(r.exitCode).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.ok).toBe(true);
      expect(rep.stats.files).toBeGreaterThanOrEqual(1);
      expect(fsck.run([p], {}).stdout).toMatch(/clean/);
      // Destroy both superblock copies: no longer clean.
      const fd = fs.openSync(p, 'r+');
      fs.writeSync(fd, new Uint8Array(8192), 0, 8192, 0);
      fs.closeSync(fd);
      expect(fsck.run([p], {}).exitCode).not.toBe(0);
      expect(fsck.run([path.join(dir, 'missing.img')], {}).exitCode).toBe(8);
      expect(() => fsck.run([], {})).toThrow(UsageError);
      expect(() => fsck.run([p, p], {})).toThrow(UsageError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
