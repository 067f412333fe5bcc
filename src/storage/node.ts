/** Node-only storage exports (re-exported by the lead from `terracloak/node`): the file-backed store. */
export { FileStore, type FileStoreOptions } from './file-store.js';
