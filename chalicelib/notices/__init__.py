"""Driver notices, inquiries answered one by one, feedback campaigns and quality follow-up."""
