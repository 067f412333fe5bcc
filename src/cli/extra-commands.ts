/**
 * Commands contributed by area modules (attestation: root/quote/verify; storage: fsck). Each
 * registers itself here so `main.ts` stays one table.
 */
export {};
