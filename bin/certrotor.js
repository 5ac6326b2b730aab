#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is bundled by `npm install` (prepare) into dist/certrotor.js.
require('../dist/certrotor.js');
