import { describe, expect, it } from 'vitest'
import { type InfraState, planUp } from './infra-cli.ts'

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
