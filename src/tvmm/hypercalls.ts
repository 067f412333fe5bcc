/**
 * The hypercall table. Numbers are grouped by mechanism; each engine registers its handlers with
 * the TVMM. A handler gets the caller's identity as derived by the TVMM (VM, mode, thread,
 * address space, cloaking domain) — never from arguments (threat VAL-07).
 */
import type { Caller } from './exec.js';

/** Hypercall numbers. */
export const HC = Object.freeze({
  /** Terra GET-ID: returns a handle to the caller VM's identity. */
  GET_ID: 1,
  /** Terra ENDORSE. */
  ENDORSE: 2,
  /** Balloon: report ballooned pages (ESX). */
  BALLOON_INFLATE: 16,
  BALLOON_DEFLATE: 17,
  BALLOON_TARGET: 18,
  /** Overshadow shim calls. */
  CLOAK_REGISTER: 32,
  CLOAK_CREATE_RESOURCE: 33,
  CLOAK_MAP: 34,
  CLOAK_UNMAP: 35,
  CLOAK_FILE: 36,
  /** Console write (debug). */
  CONSOLE: 64,
});

/** Errors returned in r0 (negative numbers). */
export const HCERR = Object.freeze({ EINVAL: -22, EPERM: -1, ENOSYS: -38, EBUSY: -16, ENOMEM: -12 });

/** A hypercall handler: validates `args` itself and returns a number (negative = error). */
export type HypercallHandler = (caller: Caller, args: readonly number[]) => number;
