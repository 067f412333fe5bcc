/** src/trace-export: terracloak traces as Chrome trace-event JSON (Perfetto, chrome://tracing). */
export * from './chrome.js';
