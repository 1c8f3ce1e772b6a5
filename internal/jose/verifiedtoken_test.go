package jose

import (
	"errors"
	"math"
	"testing"
)

func TestStrictNumericDate(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want float64
		ok   bool
	}{
		{`1700000000`, 1700000000, true},
		{`0`, 0, true},
		{`-0`, 0, true},
		{`-1`, -1, true},
		{`1700000000.25`, 1700000000.25, true},
		{`1.7e9`, 1.7e9, true},
		{`1.7E+9`, 1.7e9, true},
		{`9223372036854775807`, float64(math.MaxInt64), true},
		{`-9223372036854775808`, float64(math.MinInt64), true},

		{`1e19`, 0, false},
		{`-1e19`, 0, false},
		{`1e300`, 0, false},
		{`-1e300`, 0, false},
		{`1e400`, 0, false},
		{`"1700000000"`, 0, false},
		{`true`, 0, false},
		{`false`, 0, false},
		{`null`, 0, false},
		{`[1700000000]`, 0, false},
		{`{"t":1700000000}`, 0, false},
		{``, 0, false},
	} {
		got, err := numericDate("exp", []byte(tc.raw))
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: refused: %v", tc.raw, err)
		case tc.ok && got != tc.want:
			t.Errorf("%s: got %v, want %v", tc.raw, got, tc.want)
		case !tc.ok && !errors.Is(err, ErrInvalidTimeClaim):
			t.Errorf("%s: got %v, %v; want %v", tc.raw, got, err, ErrInvalidTimeClaim)
		}
	}
}
