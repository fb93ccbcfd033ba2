"""Service layer: each public function is one transaction (it commits or raises)."""
