// shoal's version, shown by `shoal version`, `/version` and node descriptions.
export const SHOAL_VERSION = '0.1.0';
