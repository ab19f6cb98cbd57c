import { expect } from 'chai'
import { cpuSeconds, parseProcIo, parseProcStat, writeCallsOf } from './proc-stat.ts'

describe('bench: /proc/PID/stat', () => {
  it('reads utime and stime, fields 14 and 15', () => {
    const line = '1234 (node) S 1 1234 1234 0 -1 4194560 5000 0 10 0 731 42 0 0 20 0 11 0 9000 1000000 20000 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0'
    expect(parseProcStat(line)).to.deep.equal({ utime: 731, stime: 42 })
  })

  it('counts the fields from the last parenthesis of a command name with spaces and parentheses', () => {
    const line = '77 (my (odd) name) R 1 77 77 0 -1 0 0 0 0 0 15 3 0 0 20 0 1 0 100 0 0'
    expect(parseProcStat(line)).to.deep.equal({ utime: 15, stime: 3 })
  })

  it('refuses a line that is not one', () => {
    expect(() => parseProcStat('garbage')).to.throw(RangeError)
    expect(() => parseProcStat('1 (x) S 1')).to.throw(RangeError)
  })

  it('reads this process, and nothing for a pid that does not exist', () => {
    expect(cpuSeconds(process.pid)).to.be.a('number').that.is.at.least(0)
    expect(cpuSeconds(2 ** 30)).to.equal(undefined)
  })

  it('reads syscr and syscw of /proc/PID/io, and refuses text without them', () => {
    const text = 'rchar: 100\nwchar: 200\nsyscr: 7\nsyscw: 9\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n'
    expect(parseProcIo(text)).to.deep.equal({ syscr: 7, syscw: 9 })
    expect(() => parseProcIo('rchar: 1\n')).to.throw(RangeError)
  })

  it('counts the write calls of this process, and none of a pid that does not exist', () => {
    expect(writeCallsOf([process.pid])).to.be.a('number').that.is.at.least(0)
    expect(writeCallsOf([2 ** 30])).to.equal(0)
  })
})
