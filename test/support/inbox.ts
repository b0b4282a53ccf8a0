/** Collects the messages of a subscription; `until(n)` waits (10 s at most) for n of them. */
export function inbox() {
  const messages: string[] = [];
  return {
    messages,
    onMessage(message: string) {
      messages.push(message);
    },
    async until(count: number): Promise<string[]> {
      const deadline = Date.now() + 10_000;
      while (messages.length < count) {
        if (Date.now() > deadline)
          throw new Error(`got ${JSON.stringify(messages)}, expected ${count} messages`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return messages;
    },
  };
}
