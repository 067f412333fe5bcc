/** Constants shared by the crash child and its harness. */
export const CRASH_FILES = ['vm0.vmdk', 'vm1.vmdk', 'vm2.vmdk'];
/** 4 KiB blocks per file (2 MiB files: two 1 MiB blocks). */
export const CRASH_BLOCKS = 512;
/** Files 0 and 1 belong to host 1, file 2 to host 2. */
export function hostOfFile(f: number): number {
  return f < 2 ? 1 : 2;
}
