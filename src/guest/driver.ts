/**
 * Kernel drivers: periodic in-kernel agents such as the balloon driver (ESX, Waldspurger OSDI'02
 * §3.2). A driver uses the kernel's own page allocator (so ballooned pages are pages the guest
 * itself considers allocated) and the VMM only through hypercalls.
 */
import type { GuestPlatform } from '../tvmm/index.js';

/** What the kernel offers a driver. */
export interface KernelServices {
  readonly platform: GuestPlatform;
  /** Allocates a guest-physical page from the kernel's allocator (pinned: never paged to guest swap). Under pressure the kernel first pages out to its own swap. Returns undefined when none can be had. */
  allocPage(opts?: { pinned?: boolean }): number | undefined;
  /** Returns a page to the kernel's allocator. */
  freePage(gppn: number): void;
  /** Pages currently free in the guest allocator. */
  freePages(): number;
  /** Guest-physical pages the kernel manages. */
  totalPages(): number;
  /** Virtual time now (ns). */
  now(): number;
}

/** A periodic kernel driver. */
export interface KernelDriver {
  readonly name: string;
  /** Virtual ns between ticks. */
  readonly periodNs: number;
  tick(k: KernelServices): void;
  /** Stats for the driver (e.g. the balloon's target/actual/inflations/deflations/pops). */
  stats?(): Record<string, number>;
}
