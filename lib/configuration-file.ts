import { readFileSync } from 'node:fs';
import { parseConfigText } from '../lambda/adapters/local/config-file';

/**
 * The configuration document in `path` (YAML or JSON, the CLI's `--config` file), parsed but not yet
 * validated: pass it as `configuration` (CertRotor validates it, every problem with its path).
 */
export function readConfigurationFile(path: string): unknown {
  return parseConfigText(readFileSync(path, 'utf8'), path);
}
