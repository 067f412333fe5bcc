/**
 * src/attestation: Terra's attestation and sealed storage (Garfinkel et al., SOSP'03) — hardware
 * root of trust, measured boot, X.509 chains, VM images and identity, ENDORSE / GET-ID, EAT quotes
 * in COSE_Sign1, the verifier with policy, sealed storage and protected virtual disks.
 * Other folders import only this file. No Node-only modules.
 */
export { FaultInjector, cborDecode, cborEncode } from './util.js';
export {
  MEASUREMENT_EXT_OID,
  CERT_ROLES,
  CA_PATH_LEN,
  SIM_EPOCH_MS,
  CERT_LIFETIME_YEARS,
  certValidity,
  isoTime,
  issueCert,
  parseCert,
  roundTripsWithAsn1Library,
  certSignedBy,
  toPem,
  fromPem,
  p1363ToDer,
  derToP1363,
  type CertRole,
  type CertMode,
  type MeasurementExt,
  type CertTemplate,
  type ParsedCert,
  type CertValidity,
  type CertKeyUsage,
} from './x509.js';
export { Manufacturer, NvStore, RootOfTrust, PCR_COUNT, BOOT_PCRS, defaultBootImages, type BootImages, type TvmmIdentity, type RootOfTrustOptions } from './root.js';
export {
  IMAGE_MAGIC,
  buildImage,
  parseImage,
  decodeDescriptor,
  descriptorIdentity,
  imageDisk,
  ImageLoader,
  type VmDescriptor,
  type VmImage,
  type VerifyMode,
} from './image.js';
export { MemoryBlockDevice, ProtectedDisk, createSealedDiskKey, type BlockDevice, type DiskClass, type ProtectedDiskOptions } from './disk.js';
export {
  COSE_ALG,
  COSE_SIGN1_TAG,
  CLAIM,
  DBGSTAT,
  MEASUREMENTS_CONTENT_FORMAT,
  encodeQuote,
  decodeQuote,
  sigStructure,
  ueidFor,
  type QuoteClaims,
  type QuoteMeasurements,
  type DecodedQuote,
} from './quote.js';
export { SealedStorage, MemoryBlobStore, parseSealedBlob, type SealPolicy, type SealIdentity, type BlobStore, type SealedBlobHeader, type UnsealExpectation } from './sealed.js';
export { AttestationService, isWeakPublicKey, type GuestAttestationPort, type VmRegistration, type VmIdentity, type CertRequest } from './service.js';
export { PolicySchema, parsePolicy, type Policy } from './policy.js';
export { Verifier, CHECKS, signVendorStatement, type CheckName, type CheckResult, type VerificationReport, type VerifierOptions, type VerifyOptions } from './verifier.js';
export { x25519KeyPair, deriveSessionKey, keyConfirmation, checkKeyConfirmation, type X25519KeyPair } from './channel.js';
export { createAttestedHost, policyFor, type AttestedHost, type AttestedHostOptions } from './host.js';

import * as self from './index.js';
import { lockExportedClasses } from '../sim/index.js';

// Guests can import this module: its classes must not be patchable (test/redteam/FINDINGS.md).
lockExportedClasses(self);
