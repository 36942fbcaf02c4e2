export * from './stats.ts';
export * from './kanon.ts';
export * from './sm2.ts';
export * from './fsrs.ts';
export * from './mastery.ts';
export * from './sessions.ts';
export * from './gaps.ts';
