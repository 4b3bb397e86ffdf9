/** The package version, written into every model's producer_version. Kept equal to package.json by a test. */
export const VERSION = '0.1.0';
