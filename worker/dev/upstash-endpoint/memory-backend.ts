/**
 * The endpoint's backend when no Redis is given: a keyspace and pub/sub in this process,
 * gone when the endpoint closes. Enough Redis for `task-worker dev` and tests without a
 * redis-server.
 * @module
 */
import { MEMORY_COMMANDS, type MemoryContext } from './memory-commands.ts';
import { MemoryPubSub } from './memory-pubsub.ts';
import { CommandFailure, MemoryStore } from './memory-store.ts';
import { ReplyError, type CommandBackend, type Reply } from './reply.ts';

/** An in-memory {@link CommandBackend}. */
export function createMemoryBackend(): CommandBackend {
  const context: MemoryContext = { store: new MemoryStore(), pubsub: new MemoryPubSub() };

  function check(command: readonly string[]): ReplyError | undefined {
    const [name = '', ...args] = command;
    const spec = MEMORY_COMMANDS.get(name.toLowerCase());
    if (!spec) {
      const shown = args
        .slice(0, 10)
        .map((arg) => `'${arg.slice(0, 128)}' `)
        .join('');
      return new ReplyError(`ERR unknown command '${name}', with args beginning with: ${shown}`);
    }
    const count = command.length;
    if (spec.arity >= 0 ? count !== spec.arity : count < -spec.arity) {
      return new ReplyError(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);
    }
    return undefined;
  }

  function run(command: readonly string[]): Reply {
    const invalid = check(command);
    if (invalid) return invalid;
    const [name, ...args] = command;
    try {
      return MEMORY_COMMANDS.get(name!.toLowerCase())!.run(context, args);
    } catch (error) {
      if (error instanceof CommandFailure) return error.reply;
      throw error;
    }
  }

  return {
    async run(command) {
      return run(command);
    },
    async transaction(commands) {
      // As in Redis: an error found while queueing (unknown command, bad arity) discards
      // the whole transaction; an error while running only fails its own command.
      const queued = commands.map(check).find((error) => error !== undefined);
      if (queued) return new ReplyError('EXECABORT Transaction discarded because of previous errors.');
      return commands.map(run);
    },
    async subscribe(kind, name, onMessage) {
      const unsubscribe = context.pubsub.subscribe(kind, name, onMessage);
      return async () => unsubscribe();
    },
    async close() {
      context.store.clear();
      context.pubsub.clear();
    },
  };
}
