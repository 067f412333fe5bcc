/**
 * Branded numbers for every address and page number, and the only place where arithmetic on them
 * happens. Brands are compile-time only: at run time every one is a plain safe integer, so hot
 * paths pay nothing.
 *
 * Guest virtual addresses are 32-bit (2-level page tables of 4 KiB pages, x86 non-PAE style).
 */
import { checkInt } from './validate.js';

declare const brand: unique symbol;
/** A nominal type over T. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Guest virtual address (32-bit). */
export type Gva = Brand<number, 'Gva'>;
/** Guest physical address. */
export type Gpa = Brand<number, 'Gpa'>;
/** Guest virtual page number. */
export type Gvpn = Brand<number, 'Gvpn'>;
/** Guest physical page number. */
export type Gppn = Brand<number, 'Gppn'>;
/** Machine page (frame) number. */
export type Mpn = Brand<number, 'Mpn'>;
/** Virtual machine id. */
export type VmId = Brand<number, 'VmId'>;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_MASK = PAGE_SIZE - 1;
/** Largest guest virtual address + 1 (32-bit address space). */
export const GVA_LIMIT = 2 ** 32;
/** Sentinel for "no frame" in typed-array tables. */
export const NO_MPN = 0xffffffff;

/** Validates and brands a guest virtual address. */
export function gva(v: unknown, name = 'gva'): Gva {
  return checkInt(name, v, 0, GVA_LIMIT - 1) as Gva;
}
/** Validates and brands a guest physical page number (upper bound: the VM's page count, exclusive). */
export function gppn(v: unknown, limit: number, name = 'gppn'): Gppn {
  return checkInt(name, v, 0, limit - 1) as Gppn;
}
/** Validates and brands a machine page number. */
export function mpn(v: unknown, limit: number, name = 'mpn'): Mpn {
  return checkInt(name, v, 0, limit - 1) as Mpn;
}
/** Validates and brands a VM id. */
export function vmId(v: unknown, name = 'vmId'): VmId {
  return checkInt(name, v, 0, 0xffff) as VmId;
}
/** Page number of a virtual address. */
export function gvpnOf(a: Gva): Gvpn {
  return (a >>> PAGE_SHIFT) as Gvpn;
}
/** Offset of an address inside its page. */
export function pageOffset(a: number): number {
  return a & PAGE_MASK;
}
/** First address of a virtual page. */
export function gvaOfPage(p: Gvpn): Gva {
  return (p * PAGE_SIZE) as Gva;
}
/** Guest physical address of a page and offset. */
export function gpaOf(p: Gppn, offset = 0): Gpa {
  return (p * PAGE_SIZE + offset) as Gpa;
}
/** Guest physical page of a guest physical address. */
export function gppnOf(a: Gpa): Gppn {
  return Math.floor(a / PAGE_SIZE) as Gppn;
}
/** True when `a` is page-aligned. */
export function isPageAligned(a: number): boolean {
  return (a & PAGE_MASK) === 0;
}
/** Number of pages needed for `bytes` bytes. */
export function pagesFor(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}
/** Adds a byte offset to a guest virtual address, checking the 32-bit bound. */
export function gvaAdd(a: Gva, delta: number): Gva {
  const r = a + delta;
  if (!Number.isInteger(r) || r < 0 || r >= GVA_LIMIT) throw new RangeError(`guest virtual address overflow: ${a} + ${delta}`);
  return r as Gva;
}
