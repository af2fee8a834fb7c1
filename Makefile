package:
	bash packaging/build.sh

.PHONY: package
