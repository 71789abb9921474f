"""Several worker processes serving as one server: the supervisor, their shared directory
(:mod:`.group`) and each worker's side of it (:mod:`.sync`)."""
