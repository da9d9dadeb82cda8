import { describe, expect, it } from 'vitest'
import { listenFailure } from './health-server.ts'

const err = (code: string, message: string, extra: object = {}) =>
  Object.assign(new Error(message), { code, ...extra })

describe('listenFailure', () => {
  it('names HTTP_PORT for a port in use or not allowed, saying when it is the default', () => {
    const inUse = listenFailure(
      err('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:9401'),
      {
        host: '127.0.0.1',
        port: 9401,
        portSet: false,
      },
    )
    expect(inUse).toMatchObject({
      code: 'CONFIG_INVALID',
      message:
        "invalid configuration: HTTP_PORT (unset: this worker's default, 9401): the port is in use on 127.0.0.1 (listen EADDRINUSE: address already in use 127.0.0.1:9401); set HTTP_PORT to a free port, or 0 for any",
    })
    expect(
      listenFailure(err('EACCES', 'listen EACCES: permission denied 0.0.0.0:80'), {
        host: '0.0.0.0',
        port: 80,
        portSet: true,
      }).message,
    ).toMatch(/^invalid configuration: HTTP_PORT=80: not allowed to listen on it/)
  })

  it('names HTTP_HOST for a host that cannot be looked up or is no address of this machine', () => {
    const at = { host: 'nowhere.invalid', port: 0, portSet: true }
    expect(
      listenFailure(
        err('EAI_AGAIN', 'getaddrinfo EAI_AGAIN nowhere.invalid', { syscall: 'getaddrinfo' }),
        at,
      ),
    ).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /^invalid configuration: HTTP_HOST="nowhere\.invalid": the host cannot be looked up/,
      ),
    })
    expect(
      listenFailure(err('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL: address not available 10.9.9.9'), {
        host: '10.9.9.9',
        port: 0,
        portSet: true,
      }).message,
    ).toBe(
      'invalid configuration: HTTP_HOST="10.9.9.9": not an address of this machine (listen EADDRNOTAVAIL: address not available 10.9.9.9)',
    )
  })
})
