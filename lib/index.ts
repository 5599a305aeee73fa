export * from './b24-event-pipeline.js';
export * from './b24-event-pipeline-stack.js';
export * from './deployed-routes.js';
export * from './errors.js';
export * from './pipeline-config-source.js';
export * from './app.js';
