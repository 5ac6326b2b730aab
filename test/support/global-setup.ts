/** Jest global setup: shared services for the suites (the AWS emulator registers itself here). */
export default async function globalSetup(): Promise<void> {}
