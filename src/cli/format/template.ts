// Go's text/template and what it is built on live in src/api/gotemplate/ (nodes render secrets' and
// configs' templates with it too); the CLI's formatting code reaches them through this module.
export * from '../../api/gotemplate/template.js';
