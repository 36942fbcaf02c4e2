import { type Command } from '../command.ts';

const cmd: Command = async () => {
  throw new Error('not implemented yet');
};
export default cmd;
