"""Several worker processes serving as one server: the supervisor that keeps them running
(:mod:`.supervisor`), the directory they share (:mod:`.group`), and each worker's side of it,
which keeps its lifecycle in step with the others' (:mod:`.sync`)."""
