import { readFile } from 'node:fs/promises';
import type { CertificateSource, InventoryItem } from '../../domain/ports';
import { parseCertificates } from '../../domain/x509';

/** Inventory source over certificate files on this machine (PEM or DER); the leaf of each file counts. */
export class FilesSource implements CertificateSource {
  constructor(
    readonly name: string,
    private readonly environment: string,
    private readonly paths: readonly string[],
  ) {}

  async discover(): Promise<InventoryItem[]> {
    const items: InventoryItem[] = [];
    for (const path of this.paths) {
      const [leaf] = parseCertificates(await readFile(path), path);
      if (leaf)
        items.push({
          id: path,
          source: 'files',
          environment: this.environment,
          location: path,
          facts: leaf.facts,
        });
    }
    return items;
  }
}
