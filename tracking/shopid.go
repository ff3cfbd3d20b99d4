package tracking

// CheckShopID checks a shop id by the rule events follow (1 to 64 letters,
// digits and . _ : -), so that configuration naming a shop is refused at
// start-up rather than every event for it later. The error is a
// *ValidationError for the field shop_id.
func CheckShopID(id string) error {
	if err := checkString("shop_id", id, MaxShopIDLen, true, false); err != nil {
		return err
	}
	if !validShopID(id) {
		return &ValidationError{Field: "shop_id", Reason: "may hold only letters, digits and . _ : -"}
	}
	return nil
}
