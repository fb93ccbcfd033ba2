"""Driver names (a profile's or a device's `driver:`) -> classes, imported only when used,
so a site without Modbus never imports pymodbus and a missing optional library breaks only
the devices that need it."""

from __future__ import annotations

import importlib

from drivers.base import Driver

DRIVERS: dict[str, str] = {
    "em4100_serial": "drivers.em4100:Em4100SerialDriver",
    "chafon_uhf": "drivers.chafon:ChafonUhfDriver",
    "ascii_line_serial": "drivers.ascii_line:AsciiLineSerialDriver",
    "kerong_serial": "drivers.kerong:KerongLockBoardDriver",
    "modbus_lockboard": "drivers.modbus_lockboard:ModbusLockboardDriver",
    "modbus_door": "drivers.modbus_door:ModbusDoorDriver",
    "frigate_mqtt": "drivers.mqtt_nvr:FrigateMqttDriver",
    "mqtt_json_nvr": "drivers.mqtt_nvr:JsonMqttNvrDriver",
    "mqtt_reader": "drivers.mqtt_reader:MqttReaderDriver",
}


class UnknownDriver(KeyError):
    def __str__(self) -> str:
        return f"unknown driver {self.args[0]!r}; known: {', '.join(sorted(DRIVERS))}"


def driver_class(name: str) -> type[Driver]:
    target = DRIVERS.get(name)
    if target is None:
        raise UnknownDriver(name)
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise TypeError(f"{target} is not a Driver subclass")
    return cls
