// Shared by the tests that put a proxy between a client and Kafka or Redis or need a port where nothing
// listens, the services' and packages/testing's included (@tradepulse/platform/net-test-support); not part
// of the package's surface.
import { createServer, Socket } from 'node:net'

/** A TCP address: a Redis client takes it as `redis://${host}:${port}`, a Kafka one as `${host}:${port}`. */
export type HostPort = { host: string; port: number }

/**
 * A TCP proxy on 127.0.0.1 (at the `host` and `port` it returns) in front of `target`: `wire` is given each
 * client connection and the one it opened to the target, and decides what goes through; a pair closes
 * together. `close` destroys every connection and stops listening.
 */
export async function tcpProxy(
  target: HostPort,
  wire: (client: Socket, upstream: Socket) => void,
): Promise<HostPort & { close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = new Socket()
    upstream.connect(target.port, target.host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    wire(client, upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('proxy has no port')
  return {
    host: '127.0.0.1',
    port: address.port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A TCP port on 127.0.0.1 where nothing listens: taken from the OS, then let go. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (!address || typeof address === 'string') throw new Error('no port')
  return address.port
}
