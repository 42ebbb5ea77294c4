export * from './errors.js';
export * from './state-change-builder.js';
export * from './target-session.js';
export * from './debugger-session.js';
