#!/usr/bin/env node
import { main } from '../dist/cli/kd-decode.js';

await main();
