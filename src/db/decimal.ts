// The canonical text of a bigdec: what Java's BigDecimal.toString prints, which is how
// Datomic prints a bigdec. A bigdec is an unscaled integer and a scale, and equality keeps
// the scale, as Datomic's does: '12.50' and '12.5' differ, '+12.50' and '12.50' do not.
// Forms that name the same (unscaled, scale) pair get one text: '+12.50', '12.50', '1250E-2'
// and '.1250e2' all become '12.50'; there is no negative zero ('-0.0' is '0.0'); a scale
// beyond Java's int range (±2^31) is refused.
import { ValueError, describe } from './values';

const DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/;
/** Already canonical and common: plain digits, no sign but '-', no leading zeros, adjusted exponent >= -6. */
const PLAIN_CANONICAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
const MAX_SCALE = 2 ** 31 - 1;
const MIN_SCALE = -(2 ** 31);

/** Whether s is in the form bigdecText returns, checked cheaply for the common plain forms. */
export function isCanonicalBigdec(s: string): boolean {
  if (!PLAIN_CANONICAL.test(s)) return false;
  if (s.charCodeAt(0) === 45 && /^-0(?:\.0*)?$/.test(s)) return false;
  // 0.000000x has an adjusted exponent below -6: Java writes it with an exponent.
  return !/^-?0\.0{6}/.test(s);
}

/** The canonical text of a bigdec written as decimal text; throws ValueError when it is not one. */
export function canonicalBigdec(x: unknown): string {
  if (typeof x !== 'string') throw new ValueError(`expected a bigdec as exact decimal text like '12.50', got ${describe(x)}`);
  if (isCanonicalBigdec(x)) return x;
  const m = DECIMAL.exec(x);
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === '')))
    throw new ValueError(`expected a bigdec as exact decimal text like '12.50', got ${describe(x)}`);
  const negative = m[1] === '-';
  const fraction = m[3] ?? '';
  const exponent = m[4] === undefined ? 0 : Number(m[4]);
  const scale = fraction.length - exponent;
  if (!Number.isSafeInteger(exponent) || scale > MAX_SCALE || scale < MIN_SCALE)
    throw new ValueError(`bigdec ${describe(x)} has a scale beyond ±2^31 (Datomic's limit)`);
  const digits = (m[2]! + fraction).replace(/^0+(?=\d)/, '');
  return javaText(negative && digits !== '0', digits, scale);
}

/** BigDecimal.toString: plain when scale >= 0 and the adjusted exponent >= -6, else d.dddE±n. */
function javaText(negative: boolean, digits: string, scale: number): string {
  const sign = negative ? '-' : '';
  const adjusted = -scale + (digits.length - 1);
  if (scale >= 0 && adjusted >= -6) {
    if (scale === 0) return sign + digits;
    if (digits.length > scale) return `${sign}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
    return `${sign}0.${'0'.repeat(scale - digits.length)}${digits}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${mantissa}E${adjusted >= 0 ? '+' : ''}${adjusted}`;
}
