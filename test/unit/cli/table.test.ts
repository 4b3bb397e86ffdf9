import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatRow, formatTable } from '../../../src/cli/table.js';

describe('the CLI table printer', () => {
  test('columns as wide as their widest cell, a gap between, no padding after a left-aligned last column', () => {
    const out = formatTable([
      ['name', 'state', 'description'],
      ['PPLCNet_x1_0', 'remote', 'PP-LCNet x1.0'],
      ['x', 'packaged', ''],
    ]);
    assert.equal(out, 'name          state     description\nPPLCNet_x1_0  remote    PP-LCNet x1.0\nx             packaged  \n');
  });

  test('minimum widths, right alignment (padded even when last), indent and gap', () => {
    const layout = { columns: [{ width: 4 }, { align: 'right' as const, width: 6 }], gap: ' ', indent: '  ' };
    assert.equal(formatTable([['ab', 1.5], ['c', 'longer!']], layout), '  ab       1.5\n  c    longer!\n');
    assert.equal(formatRow(['threads', 12], { columns: [{ align: 'right', width: 9 }, { align: 'right', width: 9 }], gap: ' ' }), '  threads        12\n');
  });

  test('a long table (200,000 rows) lays out without running out of stack', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [`key${i}`, 'f4', `[${i}]`]);
    const lines = formatTable(rows).split('\n');
    assert.equal(lines.length, 200_001);
    assert.equal(lines[0], 'key0       f4  [0]');
    assert.equal(lines[199_999], 'key199999  f4  [199999]');
  });
});
