import { describe, expect, it } from 'vitest';
import { csvField, parseCsv, toCsv } from '../src/lib/csv';

describe('csvField', () => {
  it('leaves plain text and numbers as they are', () => {
    expect(csvField('street')).toBe('street');
    expect(csvField(42)).toBe('42');
    expect(csvField(-3)).toBe('-3');
    expect(csvField(0.5)).toBe('0.5');
    expect(csvField(true)).toBe('true');
  });
  it('writes null, undefined and non-finite numbers as empty fields', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(NaN)).toBe('');
  });
  it('quotes commas, quotes, line breaks and edge spaces, doubling quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(' padded')).toBe('" padded"');
  });
  it('keeps spreadsheet formulas as text', () => {
    expect(csvField('=1+2')).toBe("'=1+2");
    expect(csvField('+x')).toBe("'+x");
    expect(csvField('-cam')).toBe("'-cam");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('=a,b')).toBe('"\'=a,b"');
  });
});

describe('toCsv', () => {
  const rows = [
    { camera: 'street', label: 'person', n: 3 },
    { camera: 'gate, north', label: 'car "big"', n: null },
  ];
  const cols = [
    { header: 'camera', value: (r: (typeof rows)[0]) => r.camera },
    { header: 'label', value: (r: (typeof rows)[0]) => r.label },
    { header: 'n', value: (r: (typeof rows)[0]) => r.n },
  ];
  it('writes a header and CRLF-terminated rows', () => {
    expect(toCsv(rows, cols)).toBe('camera,label,n\r\nstreet,person,3\r\n"gate, north","car ""big""",\r\n');
  });
  it('round-trips through parseCsv', () => {
    expect(parseCsv(toCsv(rows, cols))).toEqual([
      ['camera', 'label', 'n'],
      ['street', 'person', '3'],
      ['gate, north', 'car "big"', ''],
    ]);
  });
  it('writes only the header for no rows', () => {
    expect(toCsv([], cols)).toBe('camera,label,n\r\n');
  });
});

describe('parseCsv', () => {
  it('reads quoted line breaks and LF-only files', () => {
    expect(parseCsv('a,"b\nc"\nd,e')).toEqual([
      ['a', 'b\nc'],
      ['d', 'e'],
    ]);
  });
});
