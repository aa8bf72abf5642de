// Stop a long-running party cleanly when asked to: on SIGTERM (what a service manager, or the demo's
// launcher, sends) or SIGINT (Ctrl-C), run `stop` (close connections, end pools), then exit 0.

/** Run `stop` on the first SIGTERM or SIGINT, then exit with code 0. */
export function stopOnSignal(stop: () => Promise<unknown>): void {
  const onSignal = async (): Promise<void> => {
    await stop()
    process.exit(0)
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
}
