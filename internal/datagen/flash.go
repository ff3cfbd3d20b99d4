package datagen

import "time"

// FlashSale returns when the options' flash sale starts: local noon, in
// Zone, of the day halfway through the range (the next noon when the day
// starts after it); its crowd arrives in the following ten minutes. ok is
// false when the range holds no flash sale (the sale would end after it)
// or the options are invalid.
func (o Options) FlashSale() (start time.Time, ok bool) {
	o, err := o.withDefaults()
	if err != nil {
		return time.Time{}, false
	}
	d := o.Days / 2
	ws := o.Start.Add(time.Duration(d) * 24 * time.Hour)
	we := ws.Add(24 * time.Hour)
	end := o.Start.Add(time.Duration(o.Days) * 24 * time.Hour)
	y, m, day := ws.In(o.Zone).Date()
	start = time.Date(y, m, day, 12, 0, 0, 0, o.Zone)
	if start.Before(ws) {
		start = start.Add(24 * time.Hour)
	}
	if start.Add(10 * time.Minute).After(earliest(we, end)) {
		return time.Time{}, false
	}
	return start, true
}
