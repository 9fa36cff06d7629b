/** The studio's version, written into every export (keep in step with package.json). */
export const STUDIO_VERSION = '0.2.0';
