echo "scenario not yet available"; exit 1
