#!/usr/bin/env node
// The installed CLI runs the compiled entry point (built by `npm run build`, run by `prepare`).
import '../dist/cli/main.js';
