/** src/guest: the untrusted guest OS — kernel, libc, built-in programs, filesystem, introspection, adversary hooks. */
export * from './abi.js';
export * from './driver.js';
export * from './layout.js';
export * from './adversary.js';
export { GuestKernel, TIMER_VECTOR, MAX_RW, TEXT_PAGES, type GuestKernelOptions, type KernelStats } from './kernel.js';
export { GuestFs, FSLAYOUT, SUPER, INODE, MAX_FILE_PAGES, type FsPages, type FsStats } from './fs.js';
export * as libc from './libc.js';
export { BUILTIN_PROGRAMS, bootGuest, type BootGuestOptions, type BootedGuest } from './programs.js';
export * from './introspect.js';
export * from './balloon.js';
import * as self from './index.js';
import { lockExportedClasses } from '../sim/index.js';

// Guests can import this module: its classes must not be patchable by one VM for the others.
lockExportedClasses(self);
