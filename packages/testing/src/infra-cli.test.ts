import { describe, expect, it } from 'vitest'
import { alive, type InfraState, planUp } from './infra-cli.ts'

const state: InfraState = {
  kafkaPid: 101,
  redisPid: 202,
  kafkaBrokers: '127.0.0.1:19092',
  redisUrl: 'redis://127.0.0.1:16379',
  dataDir: '/tmp/x/kafka',
}
const aliveOnly =
  (...pids: number[]) =>
  (pid: number) =>
    pids.includes(pid)

describe('planUp (pnpm infra:up)', () => {
  it('starts both with no recorded stack, or when both recorded processes are dead', () => {
    expect(planUp(undefined, aliveOnly())).toEqual({ kafka: 'start', redis: 'start' })
    expect(planUp(state, aliveOnly())).toEqual({ kafka: 'start', redis: 'start' })
  })
  it('keeps both when both are alive', () => {
    expect(planUp(state, aliveOnly(101, 202))).toEqual({ kafka: 'keep', redis: 'keep' })
  })
  it('restarts only the dead one: never a second broker on the data dir of a live one', () => {
    expect(planUp(state, aliveOnly(101))).toEqual({ kafka: 'keep', redis: 'start' })
    expect(planUp(state, aliveOnly(202))).toEqual({ kafka: 'start', redis: 'keep' })
  })
})

describe('alive (pnpm infra:up and infra:down)', () => {
  // infra:up records 0 for a server it has not spawned yet; kill(0, 0) tests this process's own group, so
  // 0 counted as alive: a later up kept a server that was never started, and printed its address.
  it('counts no pid of 0 or below as a process', () => {
    expect(alive(0)).toBe(false)
    expect(alive(-1)).toBe(false)
    expect(alive(process.pid)).toBe(true)
    expect(planUp({ ...state, kafkaPid: 0, redisPid: 0 }, alive)).toEqual({ kafka: 'start', redis: 'start' })
  })
})
